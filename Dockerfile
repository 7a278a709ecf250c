FROM python:3.11-slim
WORKDIR /app
COPY pyproject.toml README.md ./
COPY gateway ./gateway
RUN pip install --no-cache-dir .
ENV PYTHONUNBUFFERED=1
EXPOSE 8000
# No configuration: the embedded sandboxes. Mount a TOML file and set GATEWAY_CONFIG for real APIs.
CMD ["gateway", "serve", "--host", "0.0.0.0", "--port", "8000"]
