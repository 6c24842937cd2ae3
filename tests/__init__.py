"""Tests for the Tesla Amber Sync integration."""
