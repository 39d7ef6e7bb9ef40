"""The Streamlit dashboard: what the world says about the campaign, minute by minute.

Pages only read the warehouse through :mod:`dashboard.queries`; ``buzz dashboard`` starts it
through :mod:`dashboard.launch`.
"""
