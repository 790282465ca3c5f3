"""What a cache (Redis) outage raises, so callers that can work without the cache catch exactly
that and nothing else: a programming error must still fail loudly."""

from __future__ import annotations

import redis.exceptions
from django_redis.exceptions import ConnectionInterrupted

# django-redis wraps connection failures in ConnectionInterrupted; Django's own RedisCache lets
# redis-py's errors through; a socket error can surface as OSError from either.
CACHE_ERRORS: tuple[type[BaseException], ...] = (
    ConnectionInterrupted,
    redis.exceptions.ConnectionError,
    redis.exceptions.TimeoutError,
    OSError,
)
