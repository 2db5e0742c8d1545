"""Outgoing channels. Each sends one rendered alert, or raises ChannelFailure to be retried later."""


class ChannelFailure(Exception):
    """The channel did not take the alert (unreachable, refused, timed out); worth another attempt."""
