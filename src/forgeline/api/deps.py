"""FastAPI dependencies: the service, the store and the settings of the running app."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from forgeline.orchestrator.service import Service
from forgeline.settings import Settings
from forgeline.store import Store


def get_service(request: Request) -> Service:
    """The app's `Service` (created by the lifespan)."""
    service: Service = request.app.state.service
    return service


def get_store(request: Request) -> Store:
    """The app's `Store`."""
    return get_service(request).store


def get_settings(request: Request) -> Settings:
    """The app's `Settings`."""
    settings: Settings = request.app.state.settings
    return settings


ServiceDep = Annotated[Service, Depends(get_service)]
StoreDep = Annotated[Store, Depends(get_store)]
SettingsDep = Annotated[Settings, Depends(get_settings)]
