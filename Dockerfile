FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY adapters ./adapters
COPY storage ./storage
COPY simulator ./simulator
RUN pip install --no-cache-dir '.[postgres]'
# The database lives on a volume; migrations run at start-up.
ENV DATA_DIR=/data DATABASE_URL=sqlite+aiosqlite:////data/wenwen.db
VOLUME ["/data"]
CMD ["python", "-m", "bot"]
