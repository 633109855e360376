"""The web interface: HTML pages over the store, served beside the API.

Server-rendered pages (Jinja2 templates) with a little vendored htmx for
lazy loading; every file a page loads ships in this package (``static/``).
Pages read through the store's public methods and
:mod:`flexilims.store.browse`, and write only through the store's write path,
so that they apply exactly the rules of the API. :func:`routes` gives the
routes that :func:`flexilims.server.create_app` mounts at ``/``.
"""

from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from . import account, admin, edit, entities, history, projects, search, trash
from .app import Web

__all__ = ["Web", "routes"]


def routes(web: Web) -> list:
    """Every page of the interface, and its static files under ``/static``."""
    page, admin_page = web.page, (lambda f: web.page(f, admin=True))
    entity = "/entities/{entity_id}"
    project = "/projects/{project}"
    return [
        Route("/", page(projects.home)),
        Route("/login", page(account.login_form, login=False)),
        Route("/login", page(account.login, login=False), methods=["POST"]),
        Route("/logout", page(account.logout), methods=["POST"]),
        Route(project, page(projects.project_page)),
        Route(f"{project}/tree", page(projects.project_tree)),
        Route(f"{project}/search", page(search.search_page)),
        Route(f"{project}/history", page(history.project_history)),
        Route(f"{project}/names", page(edit.parent_names)),
        Route(entity, page(entities.entity_page)),
        Route(f"{entity}/tree", page(projects.children_tree)),
        Route(f"{entity}/files", page(entities.entity_files)),
        Route(f"{entity}/thumbnail.png", page(entities.entity_thumbnail)),
        Route(f"{entity}/edit", page(edit.edit_page)),
        Route(f"{entity}/attributes", page(edit.set_attribute), methods=["POST"]),
        Route(
            f"{entity}/attributes/remove",
            page(edit.remove_attribute),
            methods=["POST"],
        ),
        Route(f"{entity}/rename", page(edit.rename), methods=["POST"]),
        Route(f"{entity}/move", page(edit.move), methods=["POST"]),
        Route(f"{entity}/delete", page(edit.delete_page)),
        Route(f"{entity}/delete", page(edit.delete), methods=["POST"]),
        Route(f"{entity}/history", page(history.entity_history)),
        Route(f"{entity}/revert", page(history.revert), methods=["POST"]),
        Route("/trash", page(trash.trash_page)),
        Route("/trash/{batch}/restore", admin_page(trash.restore), methods=["POST"]),
        Route("/trash/{batch}/purge", admin_page(trash.purge), methods=["POST"]),
        Route("/admin/users", admin_page(admin.users_page)),
        Route("/admin/users", admin_page(admin.add_user), methods=["POST"]),
        Route(
            "/admin/users/{username}/password",
            admin_page(admin.set_password),
            methods=["POST"],
        ),
        Route(
            "/admin/users/{username}/{action:str}",
            admin_page(admin.set_disabled),
            methods=["POST"],
        ),
        Route("/admin/projects", admin_page(admin.projects_page)),
        Route("/admin/projects", admin_page(admin.create_project), methods=["POST"]),
        Route(
            "/admin/projects/{project}/members",
            admin_page(admin.membership),
            methods=["POST"],
        ),
        Route(
            "/admin/projects/{project}/members/remove",
            admin_page(admin.membership),
            methods=["POST"],
        ),
        Route("/admin/settings", admin_page(admin.settings_page)),
        Mount(
            "/static",
            StaticFiles(packages=[("flexilims.web", "static")]),
            name="static",
        ),
    ]
