"""Huying (呼应): the county's call-and-response case system."""
import os

from flask import Flask

from .config import Config, instance_secret_key
from .extensions import babel, csrf, db, limiter, login_manager, migrate
from .request_input import HuyingRequest, refuse_nul_in_page_urls


def create_app(config=None):
    """Build the app: config, extensions, blueprints, CLI."""
    app = Flask(__name__, instance_relative_config=True)
    app.request_class = HuyingRequest
    app.before_request(refuse_nul_in_page_urls)
    app.config.from_object(Config)
    if isinstance(config, dict):
        app.config.update(config)
    elif config is not None:
        app.config.from_object(config)
    if not app.config.get("SECRET_KEY"):
        app.config["SECRET_KEY"] = instance_secret_key(
            app.config.get("SECRET_KEY_FILE") or os.path.join(app.instance_path, "secret_key"))
    if not app.config.get("SQLALCHEMY_DATABASE_URI"):
        os.makedirs(app.instance_path, exist_ok=True)
        app.config["SQLALCHEMY_DATABASE_URI"] = "sqlite:///" + os.path.join(app.instance_path, "huying.db")
    uri = app.config["SQLALCHEMY_DATABASE_URI"]
    if uri.startswith("postgresql://"):
        app.config["SQLALCHEMY_DATABASE_URI"] = uri = "postgresql+psycopg://" + uri[len("postgresql://"):]
    if uri.startswith("sqlite"):
        app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"connect_args": {"timeout": 30, "check_same_thread": False}})
    else:
        # a database that stopped answering is found out in seconds (503), not after the OS gives up
        app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {"pool_pre_ping": True, "pool_size": 10, "max_overflow": 20,
                                                            "connect_args": {"connect_timeout": 5}})

    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(os.path.dirname(app.root_path), "migrations"),
                     render_as_batch=True, compare_type=True)
    login_manager.init_app(app)
    csrf.init_app(app)
    babel.init_app(app)
    limiter.init_app(app)

    from .assets import init_assets
    from .auth import check_login_limits
    from .security import init_security
    check_login_limits(app.config)
    init_security(app)
    init_assets(app)

    from .database import configure_engine
    with app.app_context():
        configure_engine(db.engine)

    from . import deadlines, duty_list, grid_events  # noqa: F401 - register the functions processes call
    from .api import register_api
    from .web import web_bp
    from .web.admin import account_bp, admin_bp
    from .web.audit import audit_bp
    from .web.command import command_bp
    from .web.duty_list import duty_list_bp
    from .web.modeller import modeller_bp
    from .web.notifications import notifications_bp
    from .web.reports import reports_bp
    from .web.supervision import supervision_bp
    register_api(app)
    app.register_blueprint(web_bp)
    app.register_blueprint(audit_bp)
    app.register_blueprint(command_bp)
    app.register_blueprint(supervision_bp)
    app.register_blueprint(duty_list_bp)
    app.register_blueprint(modeller_bp)
    app.register_blueprint(reports_bp)
    app.register_blueprint(notifications_bp)
    app.register_blueprint(admin_bp)
    app.register_blueprint(account_bp)

    from .errors import register_handlers
    register_handlers(app)

    from .audit import record_refusals
    record_refusals(app)

    from .cli import register_cli
    register_cli(app)
    return app
