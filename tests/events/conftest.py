from dbfixtures import db_url, fresh_db_url, postgres_session_database, store

__all__ = ["db_url", "fresh_db_url", "postgres_session_database", "store"]
