"""The staff dashboard: overview, precincts, review, results, operations.

Every page under /staff requires a signed-in staff member (see `access`); /healthz,
/results.json and /metrics (token or login) live in `public`.
"""

from __future__ import annotations

from flask import Flask

from ivr.staff import (
    access,
    auth,
    drill_views,
    formatting,
    mode_views,
    ops,
    outbound_views,
    overview,
    precincts,
    public,
    readiness_views,
    results_views,
    review_views,
    worksheet_entry_views,
    worksheet_views,
)


def init_app(app: Flask) -> None:
    """Register the dashboard's blueprints and template helpers on `app`."""
    for blueprint in (
        auth.bp,
        overview.bp,
        precincts.bp,
        review_views.bp,
        results_views.bp,
        ops.bp,
        outbound_views.bp,
        mode_views.bp,
        readiness_views.bp,
        drill_views.bp,
        worksheet_views.bp,
        worksheet_entry_views.bp,
        public.bp,
    ):
        app.register_blueprint(blueprint)
    formatting.init_app(app)
    app.after_request(access.security_headers)
