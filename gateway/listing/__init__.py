"""Listing a project's ad sets across its ad accounts, one page at a time.

    types.py    what goes in and out: PageSize, ListFilters, Source, AdSetItem, ListingPage
    service.py  ListingService: authorization, scope, loaders, cursors; runs the walk
    walk.py     PageWalk: assembles one page from the accounts' own pages
    hints.py    SizeHints: account sizes last seen, to size upstream requests

Endpoints import the types from ``types`` and call the service; nothing outside this package
needs the walk.
"""
