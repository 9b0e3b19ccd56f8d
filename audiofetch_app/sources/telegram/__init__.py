"""Telegram: gateway protocol, Telethon adapter, login flow and sessions."""
