"""Moving a host (to another group or cluster) makes what we knew about its compliance stale; a host
added to the inventory gets its compliance record at once (Unknown where a baseline applies)."""
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver

from fabric.models import Cluster, Host, HostGroup

_PLACEMENT = {Host: ("host_group_id", "cluster_id"), Cluster: ("host_group_id",), HostGroup: ("parent_id",)}


def _placement_changed(sender, instance, update_fields) -> bool:
    fields = _PLACEMENT[sender]
    if instance.pk is None:
        return False
    if update_fields is not None and not {f.removesuffix("_id") for f in fields} & {
        f.removesuffix("_id") for f in update_fields
    }:
        return False
    old = sender.objects.filter(pk=instance.pk).values(*fields).first()
    return old is not None and any(old[f] != getattr(instance, f) for f in fields)


@receiver(pre_save, sender=Host)
@receiver(pre_save, sender=Cluster)
@receiver(pre_save, sender=HostGroup)
def _remember_move(sender, instance, update_fields=None, **kwargs):
    instance._compliance_moved = _placement_changed(sender, instance, update_fields)


@receiver(post_save, sender=Host)
@receiver(post_save, sender=Cluster)
@receiver(post_save, sender=HostGroup)
def _reset_moved(sender, instance, created=False, raw=False, **kwargs):
    if created and sender is Host and not raw:
        from compliance.evaluation import recompute_hosts

        recompute_hosts([instance])
        return
    if not getattr(instance, "_compliance_moved", False):
        return
    instance._compliance_moved = False
    from compliance.baselines import reset_compliance, target_hosts

    reset_compliance(target_hosts(instance))
