"""clubfund's double-entry core: plain Python, no I/O, no clock, no ids, no SQL.

Everything here is a pure function of its arguments. Values are immutable;
errors are typed (`ledger.errors`) and raised before anything is changed.
"""
