"""Networks: backbones (trunks), the embedding head, and the DAML generator."""
