"""GUI agent: sees screenshots, finds UI elements, acts with mouse and keyboard."""
