"""The Telegram bot face: send it a link, get the audio back in the chat.

`runner.BotRunner` starts and stops the bot with the app (Settings → Telegram bot) and for
`audiofetch bot`; `service.TelegramBot` is the bot itself, behind the `gateway.BotGateway`
protocol (Telethon in bot mode in `telethon_bot`, a fake in tests).
"""
