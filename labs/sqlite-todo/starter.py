"""sqlite-todo: a TODO list kept in a SQLite file.

The database file is at WIRELAB_TODO_PATH. Create the tasks table if it is
not there, add four tasks with executemany, change one priority, delete one
task, print the tasks by priority then name, commit and close.
"""
import os
import sqlite3

PATH = os.environ.get("WIRELAB_TODO_PATH", "todo.db")

NEW_TASKS = [("Buy milk", 2), ("Learn Python", 1), ("Walk the dog", 3), ("Read 'Fluent Python'", 2)]

# TODO: connection = sqlite3.connect(PATH) ...
