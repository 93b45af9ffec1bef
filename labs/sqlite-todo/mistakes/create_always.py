# Mistake: I wrote CREATE TABLE without IF NOT EXISTS: on a database that already has the table, the script stops at once.
# fails: exit-ok, stored-tasks, prints-existing
"""A wrong solution for the sqlite-todo lab: see the two comment lines above."""
import os
import sqlite3

PATH = os.environ.get("WIRELAB_TODO_PATH", "todo.db")

NEW_TASKS = [("Buy milk", 2), ("Learn Python", 1), ("Walk the dog", 3), ("Read 'Fluent Python'", 2)]


class Todo:
    def __init__(self, path):
        self.conn = sqlite3.connect(path)
        self.c = self.conn.cursor()
        self.create_table()

    def create_table(self):
        self.c.execute(
            "CREATE TABLE tasks ("
            " id INTEGER PRIMARY KEY AUTOINCREMENT,"
            " name TEXT NOT NULL,"
            " priority INTEGER NOT NULL)"
        )

    def add_tasks(self, tasks):
        self.c.executemany("INSERT INTO tasks (name, priority) VALUES (?, ?)", tasks)

    def change_priority(self, name, priority):
        self.c.execute("UPDATE tasks SET priority = ? WHERE name = ?", (priority, name))

    def delete_task(self, name):
        self.c.execute("DELETE FROM tasks WHERE name = ?", (name,))

    def show_tasks(self):
        for priority, name in self.c.execute("SELECT priority, name FROM tasks ORDER BY priority, name"):
            print(priority, name)

    def close(self):
        self.conn.commit()
        self.conn.close()


if __name__ == "__main__":
    todo = Todo(PATH)
    todo.add_tasks(NEW_TASKS)
    todo.change_priority("Walk the dog", 1)
    todo.delete_task("Buy milk")
    todo.show_tasks()
    todo.close()
