"""Tests of the local Amber + Tesla API simulator."""
