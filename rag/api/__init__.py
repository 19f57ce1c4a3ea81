"""The faces other programs use: an OpenAI-compatible API, an MCP server, and `rag serve` putting them
beside the chat page in one process."""
