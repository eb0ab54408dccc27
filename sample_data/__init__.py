"""The UCI Online Retail dataset (Chen, 2015, CC BY 4.0) as demo and test data: locate, download and parse it."""
