"""Analysis of segmented video: zones, masks, zone statistics, rules and events."""
