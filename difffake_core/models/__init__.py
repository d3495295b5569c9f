"""Face feature-extractor backbones (timm) and their weight sources."""
