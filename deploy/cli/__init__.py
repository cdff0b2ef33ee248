"""The command line: the task wrapper, the console script, the collection, tasks/.

    collection.py  the Invoke collection of every task (tasks.py and the console script)
    program.py     the `marketplace-deploy` console script (an Invoke Program; parse errors exit 2)
    task.py        deploy_task: the one wrapper every task goes through (config, output, exit code, --json)
    tasks/         the Invoke task modules, one per namespace (their docstrings are the help)
"""
