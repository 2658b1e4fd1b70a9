"""LAION-CLAP (through transformers' ClapModel) as a text-audio embedder: loading, conversion, front end."""
