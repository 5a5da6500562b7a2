"""The Tianwang collaboration API (天网协作系统, HTTP on 6060) and the staff console."""

from ai_cs.api.app import create_app

__all__ = ["create_app"]
