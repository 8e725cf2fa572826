"""The one model client (litellm), the call cache, structured output, pricing, and providers/."""
