"""Use cases: one public function = one database transaction; never imports fastapi."""
