"""Signed client feedback links: issuing them, the single-use record, and the web form behind them."""
