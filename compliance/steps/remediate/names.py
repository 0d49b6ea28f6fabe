"""The rolling remediation's step names, one constant each."""
# One constant per step name. A standalone host (or a cluster node chosen on its own) has its own
# evacuate and return steps: the plan says which, so the steps need not test it again.
PRECHECK = "compliance.precheck"
PREPARE = "compliance.prepare_node"                # scan and download, before the node is drained
CHECK = "compliance.check_node"
EVACUATE = "compliance.evacuate_node"              # clustered: pause, live-migrate (or save) per the plan
SAVE_VMS = "compliance.save_vms"                   # standalone: save what runs
SAVE_VMS_AND_PAUSE = "compliance.save_vms_and_pause"  # a cluster node chosen on its own: save, then pause
INSTALL = "compliance.install_updates"
RESTART = "compliance.restart_node"
RESUME = "compliance.resume_node"
RETURN_VMS = "compliance.return_vms"               # clustered: live-migrate back, start what was saved
START_SAVED = "compliance.start_saved_vms"         # standalone: start what was saved
VERIFY = "compliance.verify_node"
FINISH = "compliance.finish_remediation"
EVACUATIONS = (EVACUATE, SAVE_VMS, SAVE_VMS_AND_PAUSE)
RETURNS = (RETURN_VMS, START_SAVED)
SCAN_PARALLEL = 8
