"""How the app is served: security headers (Flask-Talisman), a session cookie that is Secure on every
request that came over HTTPS, and the forwarded headers of exactly the trusted proxies.

`make run` serves plain http://127.0.0.1:5000, so nothing here may depend on HTTPS: the cookie is
marked Secure per request (always with SESSION_COOKIE_SECURE), and HSTS is sent on HTTPS answers only."""
from flask import has_request_context, request
from flask.sessions import SecureCookieSessionInterface
from flask_talisman import Talisman
from werkzeug.middleware.proxy_fix import ProxyFix

# no inline script anywhere (the pages' JSON data islands are not run) and no <style> element; the
# report's bars are sized by style attributes, and bpmn-js draws a few icons from data: URIs
CONTENT_SECURITY_POLICY = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "style-src-attr": "'unsafe-inline'",
    "img-src": "'self' data: blob:",     # blob: the call form's previews of the photos chosen
    "font-src": "'self'",
    "connect-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}


# what a served upload may do in a browser that opens it: nothing — no script (sandbox), nothing loaded
# but itself; with nosniff (Talisman's default) and Content-Disposition: attachment for all but images
SERVED_FILE_POLICY = "default-src 'none'; img-src 'self'; media-src 'self'; style-src 'unsafe-inline'; sandbox"


def serves_files(view):
    """A view answering an uploaded file's bytes: the sandboxing policy instead of the pages' own."""
    view.talisman_view_options = {"content_security_policy": SERVED_FILE_POLICY}
    return view


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed cookie session, Secure when the request is (or when SESSION_COOKIE_SECURE says always)."""

    def get_cookie_secure(self, app):
        return bool(app.config["SESSION_COOKIE_SECURE"]) or (has_request_context() and request.is_secure)

    def save_session(self, app, session, response):
        # static files are the same for everyone: no cookie and no "Vary: Cookie" on them, or a browser
        # would drop its year-long copy whenever the session cookie changes (app/assets.py)
        if has_request_context() and request.endpoint == "static" and not session.modified:
            return
        super().save_session(app, session, response)


def init_security(app):
    proxies = int(app.config.get("TRUSTED_PROXIES") or 0)
    if proxies:
        # the last `proxies` hops of X-Forwarded-For/-Proto/-Host are the trusted proxies' own; the rest is ignored
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=proxies, x_proto=proxies, x_host=proxies)
    app.session_interface = SessionInterface()
    # HSTS for this host alone: the county's other sites under the same domain may still be plain http
    Talisman(app, force_https=False, session_cookie_secure=False, frame_options="DENY",
             content_security_policy=CONTENT_SECURITY_POLICY, referrer_policy="same-origin",
             strict_transport_security_include_subdomains=False)
