"""The fabric's menu entries (see core.navigation)."""
from core.navigation import MenuItem, Section
from core.roles import ADMINISTRATOR

menu = (
    Section("Fabric", weight=100, items=(
        MenuItem("Servers", "fabric:server_list", weight=100,
                 views=("fabric:host_*", "fabric:hostgroup_*", "fabric:updateserver_add")),
        MenuItem("Clusters", "fabric:cluster_list", weight=200, views=("fabric:cluster_*", "upgrades:*")),
        MenuItem("Virtual machines", "fabric:vm_list", weight=300),
        MenuItem("File Servers", "fabric:fileserver_list", weight=400, views=("fabric:fileserver_*",)),
    )),
    Section("Library", weight=200, items=(
        MenuItem("Images", "fabric:image_list", weight=100, views=("fabric:image_*",)),
        MenuItem("Physical computer profiles", "fabric:profile_list", weight=200, views=("fabric:profile_*",)),
        MenuItem("Deployment servers", "fabric:deploymentserver_list", weight=300,
                 views=("fabric:deploymentserver_*",)),
    )),
    Section("Networking", weight=300, items=(
        MenuItem("Logical networks", "fabric:logicalnetwork_list", weight=100,
                 views=("fabric:logicalnetwork_*", "fabric:subnet_*", "fabric:pool_*")),
    )),
    Section("Settings", weight=900, items=(
        MenuItem("Run As accounts", "fabric:runas_list", role=ADMINISTRATOR, weight=100, views=("fabric:runas_*",)),
        MenuItem("Audit log", "fabric:audit_list", weight=900),
    )),
)
