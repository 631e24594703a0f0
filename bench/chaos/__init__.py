"""``make chaos``: whole lifecycles through HTTP while the processes behind them are killed."""
