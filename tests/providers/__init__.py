"""Tests of the provider adapters (providers/) and of the fake provider that speaks their real shapes."""
