"""Redis Cluster for the gate: ``redis+cluster://host:port,host:port,...``.

Every key of a packet (``rp:{id}:...``) and of a campaign (``sk:{id}:...``)
carries the id as a hash tag, so all of them live in one slot: the Lua
scripts run unchanged on the node that owns it, and redis-py's cluster
pipeline sends each batch's calls to their nodes, one round trip per node.
"""

from __future__ import annotations

from redis.asyncio.cluster import ClusterNode, RedisCluster

CLUSTER_SCHEME = "redis+cluster://"


def is_cluster_url(url: str) -> bool:
    return url.startswith(CLUSTER_SCHEME)


def startup_nodes(url: str) -> list[ClusterNode]:
    """``redis+cluster://a:7000,b:7001`` -> the nodes to learn the cluster from."""
    nodes = []
    for part in url[len(CLUSTER_SCHEME):].split("/", 1)[0].split(","):
        host, _, port = part.strip().rpartition(":")
        if not host or not port.isdigit():
            raise ValueError(f"cluster node {part!r} is not host:port")
        nodes.append(ClusterNode(host, int(port)))
    if not nodes:
        raise ValueError("a redis+cluster:// URL names at least one node")
    return nodes


def cluster_client(url: str, *, timeout_s: float) -> RedisCluster:
    """A cluster client from ``redis+cluster://...``, or from ``redis://host:port``
    with REDIS_CLUSTER=true (one node is enough to discover the others)."""
    options = dict(
        socket_timeout=timeout_s,
        socket_connect_timeout=timeout_s,
        health_check_interval=30,
    )
    if is_cluster_url(url):
        return RedisCluster(startup_nodes=startup_nodes(url), **options)
    return RedisCluster.from_url(url, **options)
