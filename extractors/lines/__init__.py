"""Line items stitched across pages (`items.extract_line_items`)."""
