"""The public names users and benchmarks rely on."""

import vidseg


def test_public_api_is_pinned() -> None:
    assert sorted(vidseg.__all__) == sorted(
        [
            "ClosedError",
            "Config",
            "ConfigError",
            "EmptyClusterWarning",
            "EncoderNotFoundError",
            "EngineConfig",
            "OutputConfig",
            "RunConfig",
            "Segmentation",
            "Segmenter",
            "SinkError",
            "SourceOpenError",
            "SourceReadError",
            "VidsegError",
            "__version__",
            "load_config",
        ]
    )
    for name in vidseg.__all__:
        assert hasattr(vidseg, name)


def test_error_tree_inherits_builtins() -> None:
    assert issubclass(vidseg.ConfigError, ValueError)
    assert issubclass(vidseg.SourceOpenError, OSError)
    assert issubclass(vidseg.SinkError, OSError)
    assert issubclass(vidseg.EncoderNotFoundError, vidseg.SinkError)
    assert issubclass(vidseg.ClosedError, RuntimeError)
    for name in ("ConfigError", "SourceOpenError", "SourceReadError", "SinkError", "ClosedError"):
        assert issubclass(getattr(vidseg, name), vidseg.VidsegError)


def test_segmentation_result_fields() -> None:
    import numpy as np

    frame = np.zeros((4, 6, 3), np.uint8)
    frame[:, 3:] = 200
    res = vidseg.Segmenter(n_clusters=2, seed=0).segment(frame)
    for field in ("labels", "centers", "areas", "scene_cut"):
        assert hasattr(res, field)
    assert callable(res.recolor)
