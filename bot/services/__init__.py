"""Domain logic of the bot, free of Matrix: agenda, subscriptions, reminders."""
