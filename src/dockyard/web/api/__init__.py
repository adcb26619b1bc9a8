"""The REST API (JSON), one router per resource. Routes stay thin: checks live in ``jobs``."""
