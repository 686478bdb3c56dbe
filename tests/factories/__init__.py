"""Functions that create rows for tests (committed through `services`, or flushed into a given session).

users        make_user / org_user_token / ensure_test_org (users + bearer tokens), login (a browser session)
places       square / point / multi (shapes of synthetic regions)
intake       two synthetic districts with streets, institutions, a team, a site, users; `case()` records
dispatch     an org tree with one user per role, institutions, a team, the city's SM2 client
scope        districts A 310105 / B 310104 with a record of every kind and a user per role
layer_world  two districts with a record behind every map layer (layer scope and precision)
monitor      districts 319901 / 319902 with streets, grids, cases and signals
feeds        one district with two streets, aliases, a disease, users
command      a synthetic district with streets, grid cells, clinics, teams with tracks, stock

Each `build_world(services)` commits a fresh, uniquely coded world; tests/databases.py turns them into
package-scoped fixtures (one world per test database).
"""
