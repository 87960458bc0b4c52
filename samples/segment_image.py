"""Segment one image into k colour clusters and print each cluster's share.

Usage: python samples/segment_image.py [IMAGE] [--k 6] [--out segmented.png]
Without IMAGE it uses scikit-learn's bundled china.jpg.
"""

import argparse

import cv2

from vidseg import Segmenter
from vidseg.io.demo import sample_photo

parser = argparse.ArgumentParser()
parser.add_argument("image", nargs="?")
parser.add_argument("--k", type=int, default=6)
parser.add_argument("--out", default="segmented.png")
args = parser.parse_args()

image = cv2.imread(args.image) if args.image else sample_photo("china.jpg")
if image is None:
    raise SystemExit(f"cannot read image {args.image!r}")

# One call does everything: fit, label every pixel, count areas.
result = Segmenter(n_clusters=args.k, seed=0).segment(image)
cv2.imwrite(args.out, result.recolor())

for cluster in result.areas.argsort()[::-1]:
    b, g, r = result.palette[cluster]
    print(f"cluster {cluster}: {100 * result.areas[cluster]:5.1f}%  #{r:02X}{g:02X}{b:02X}")
print(f"wrote {args.out}")
