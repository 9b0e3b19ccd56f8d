"""AudioFetch: save audio from X Spaces, web pages and Telegram channels."""

__version__ = "0.1.0"
APP_NAME = "AudioFetch"
