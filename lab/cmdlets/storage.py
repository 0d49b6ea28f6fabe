"""Storage Spaces Direct (module Storage): Get-VirtualDisk and Get-StorageJob on the nodes of a
cluster whose CSVs sit on an S2D pool. Elsewhere they find nothing, as on a server without spaces.

Shapes: MSFT_VirtualDisk's HealthStatus and OperationalStatus are turned into names by the module's
type data, so ConvertTo-Json writes strings ("Healthy", "OK", "Degraded", "InService");
MSFT_StorageJob's JobState is left a number (Running 4, Completed 7) — [string] gives "4", not
"Running" (unconfirmed; the stricter choice: a script must accept the number)."""
from __future__ import annotations

import datetime as dt

from lab.cmdlets.binding import cdxml_not_found, enum_values, has_wildcard, matches, one_set
from lab.cmdlets.common import cim_instance, cmdlet, names_of, timespan
from lab.datacenter.model import Cluster

NAMESPACE = "ROOT/Microsoft/Windows/Storage"
JOB_STATES = {"New": 2, "Starting": 3, "Running": 4, "Suspended": 5, "ShuttingDown": 6, "Completed": 7,
              "Terminated": 8, "Killed": 9, "Exception": 10, "Service": 11, "QueryPending": 12}


def _s2d_cluster(ctx) -> Cluster | None:
    host = ctx.host
    cluster = ctx.dc.cluster_of(host)
    if cluster is None or not cluster.s2d or not ctx.dc.cluster_online(cluster):
        return None
    return cluster


def virtual_disk_name(csv_name: str) -> str:
    """S2D names a CSV "Cluster Virtual Disk (X)" after its virtual disk X."""
    if csv_name.startswith("Cluster Virtual Disk (") and csv_name.endswith(")"):
        return csv_name[len("Cluster Virtual Disk ("):-1]
    return csv_name


def _filter(items, parameter, values, class_name, command_type, key=None):
    """CDXML filtering: wildcards select, a plain value that matches nothing is an error."""
    key = key or parameter
    if not values:
        return items
    for value in values:
        if not has_wildcard(value) and not any(matches(str(i[key]), [value]) for i in items):
            raise cdxml_not_found(class_name, parameter, value, command_type)
    return [i for i in items if matches(str(i[key]), values)]


VDISK = "Get-VirtualDisk"


@cmdlet("Storage", VDISK, {"FriendlyName": "value", "UniqueId": "value", "Name": "value", "CimSession": "value"},
        positional=("FriendlyName",), command_type=VDISK)
def get_virtual_disk(ctx, FriendlyName=None, UniqueId=None, Name=None, CimSession=None):
    one_set(VDISK, {"FriendlyName": FriendlyName}, {"UniqueId": UniqueId}, {"Name": Name})
    dc = ctx.dc
    with dc.lock:
        cluster = _s2d_cluster(ctx)
        disks = []
        copies = 3 if cluster is not None and len(cluster.nodes) >= 3 else 2
        for csv in cluster.csvs if cluster is not None else []:
            health, operational = dc.virtual_disk_status(cluster, csv)
            disks.append(cim_instance(NAMESPACE, "MSFT_VirtualDisk", ctx.host.name, {
                "FriendlyName": virtual_disk_name(csv.name), "Name": "", "UniqueId": csv.id.replace("-", "").upper(),
                "ObjectId": f'{{1}}\\\\{cluster.name}\\root/Microsoft/Windows/Storage/Providers_v2\\SPACES_VirtualDisk.'
                            f'ObjectId="{{{csv.id}}}"',
                "HealthStatus": health, "OperationalStatus": operational,
                "ResiliencySettingName": "Mirror", "NumberOfDataCopies": copies, "PhysicalDiskRedundancy": copies - 1,
                "Size": csv.size, "AllocatedSize": csv.size, "FootprintOnPool": csv.size * copies,
                "ProvisioningType": "Fixed", "IsManualAttach": False, "IsClustered": True, "Access": "Read/Write",
                "DetachedReason": "None"}))
    disks = _filter(disks, "FriendlyName", names_of(FriendlyName), "MSFT_VirtualDisk", VDISK)
    return _filter(disks, "UniqueId", names_of(UniqueId), "MSFT_VirtualDisk", VDISK)


JOB = "Get-StorageJob"


@cmdlet("Storage", JOB, {"Name": "value", "UniqueId": "value", "JobState": "value", "CimSession": "value"},
        command_type=JOB)
def get_storage_job(ctx, Name=None, UniqueId=None, JobState=None, CimSession=None):
    one_set(JOB, {"Name": Name}, {"UniqueId": UniqueId})
    states = enum_values(JobState, JOB_STATES, "JobState", "Microsoft.PowerShell.Cmdletization.GeneratedTypes."
                         "StorageJob.JobState[]", JOB) if JobState is not None else []
    dc = ctx.dc
    with dc.lock:
        cluster = _s2d_cluster(ctx)
        jobs = []
        for job in dc.storage_jobs(cluster) if cluster is not None else []:
            progress = dc.job_progress(job)
            state = JOB_STATES["Running"] if progress < 1.0 else JOB_STATES["Completed"]
            elapsed = job.duration * progress
            started = dc.clock.now() - dt.timedelta(seconds=dc.clock.elapsed() - job.started)
            jobs.append(cim_instance(NAMESPACE, "MSFT_StorageJob", ctx.host.name, {
                "Name": job.name, "Description": f"Repair of virtual disk {virtual_disk_name(job.virtual_disk)}",
                "UniqueId": job.id, "JobState": state, "JobStatus": "Running" if state == 4 else "Completed",
                "PercentComplete": int(progress * 100), "IsBackgroundTask": True,
                "ElapsedTime": timespan(elapsed), "StartTime": started,
                "BytesProcessed": int(job.size * progress), "BytesTotal": job.size,
                "DeleteOnCompletion": True, "ErrorCode": 0 if state == 7 else None}))
    if states:
        jobs = [j for j in jobs if j["JobState"] in states]
    jobs = _filter(jobs, "Name", names_of(Name), "MSFT_StorageJob", JOB)
    return _filter(jobs, "UniqueId", names_of(UniqueId), "MSFT_StorageJob", JOB)
