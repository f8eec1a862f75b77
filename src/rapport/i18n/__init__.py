"""Bilingual (zh-CN and English) labels of Rapport's enumerations and metrics."""
