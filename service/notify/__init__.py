"""Webhooks: telling a tenant's endpoint that something it waits on happened, signed and retried."""

from service.notify.model import EVENTS, Delivery, DeliveryStatus, Webhook

__all__ = ["EVENTS", "Delivery", "DeliveryStatus", "Webhook"]
