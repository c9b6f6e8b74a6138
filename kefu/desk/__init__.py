"""The flows that span domains: a buyer's message coming in, an agent's reply going out.

Model-less and above every domain app, so the domains only import downward (decisions §20).
"""
