"""End-to-end tests: a real Home Assistant and the simulator, driven in headless Chromium."""
