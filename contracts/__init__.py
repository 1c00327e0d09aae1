"""Public contracts of the Strategic Performance Network.

Versioned pydantic models for every document, command, reply and integration event that
crosses a service boundary. A state's own systems integrate against these (and the JSON
Schemas exported from them under ``contracts/schemas/``); services never share tables.
"""
