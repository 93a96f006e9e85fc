"""Domain logic of the bot, free of Matrix: the hub's rooms, announcements, agenda, reminders,
subscriptions, the feeds' reports; ``registry`` builds them all."""
