"""This app's menu entries: (section, label, url name, role needed to see it)."""
MENU = [
    ("Fabric", "Servers", "fabric:server_list", "viewer"),
    ("Fabric", "Clusters", "fabric:cluster_list", "viewer"),
    ("Fabric", "Virtual machines", "fabric:vm_list", "viewer"),
    ("Fabric", "File Servers", "fabric:fileserver_list", "viewer"),
    ("Library", "Images", "fabric:image_list", "viewer"),
    ("Library", "Physical computer profiles", "fabric:profile_list", "viewer"),
    ("Library", "Deployment servers", "fabric:deploymentserver_list", "viewer"),
    ("Networking", "Logical networks", "fabric:logicalnetwork_list", "viewer"),
    ("Settings", "Run As accounts", "fabric:runas_list", "administrator"),
    ("Settings", "Audit log", "fabric:audit_list", "viewer"),
]
