"""marketplace.client: the post-migrate check (the stand-in's `prisma generate`)."""

import os
import subprocess
import sys
import tempfile
import unittest

from tests.support import clean_environ, migrate_sqlite, sqlite_db

HERE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def client(url: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "marketplace.client", "--database-url", url], cwd=HERE,
                          env=clean_environ(), capture_output=True, text=True, timeout=60)


class ClientTest(unittest.TestCase):
    def test_not_ready_before_the_migration_then_ready_after(self):
        with tempfile.TemporaryDirectory() as tmp:
            path = sqlite_db(tmp, migrated=False)
            before = client(f"sqlite:///{path}")
            self.assertEqual(before.returncode, 1, before.stderr)
            self.assertIn("rating schema is missing", before.stderr)
            migrate_sqlite(path)
            after = client(f"sqlite:///{path}")
            self.assertEqual(after.returncode, 0, after.stderr)
            self.assertIn("client ready", after.stdout)

    def test_bad_url_is_exit_2(self):
        self.assertEqual(client("mysql://nope").returncode, 2)


if __name__ == "__main__":
    unittest.main()
