"""Aid pages, one module per sub-area (routed in subsidies/urls.py). Thin: scoping in portal.access, rules in
subsidies.eligibility, reads in subsidies.selectors, writes in subsidies.services."""
